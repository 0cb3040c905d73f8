"""A self-check question with feedback, for the end of a lesson."""

import ipywidgets as widgets


class Quiz(widgets.VBox):
    """One multiple-choice question: pick an answer, press "check", read why.

    Attributes:
        choices: the RadioButtons (set `.value` as a reader would), check: the button,
        feedback: the HTML that answers.
    """

    def __init__(self, question, choices, answer, why):
        choices = [str(c) for c in choices]
        if len(choices) < 2 or len(set(choices)) != len(choices):
            raise ValueError(f"quiz: choices must be two or more different answers; got {choices!r}.")
        if str(answer) not in choices:
            raise ValueError(f"quiz: answer must be one of the choices {choices!r}; got {answer!r}.")
        self.question, self.answer, self.why = question, str(answer), why
        self.choices = widgets.RadioButtons(options=choices, value=None, layout={"width": "max-content"})
        self.check = widgets.Button(description="check", button_style="primary")
        self.feedback = widgets.HTML()
        self.check.on_click(lambda _: self._answer())
        super().__init__([widgets.HTML(f"<b>Check yourself.</b> {question}"), self.choices, self.check, self.feedback])
        self.add_class("lstmlab-quiz")

    def _answer(self):
        if self.choices.value is None:
            self.feedback.value = "Pick an answer first."
        elif self.choices.value == self.answer:
            self.feedback.value = f"<span style='color:#1a7f37'>&#10004; Right.</span> {self.why}"
        else:
            self.feedback.value = f"<span style='color:#c62828'>&#10008; Not {self.choices.value}.</span> Think again, then check another answer."

    def __repr__(self):
        return f"Quiz: {self.question} (run this cell in JupyterLab to answer)"


def quiz(question, choices, answer, why):
    """A multiple-choice question with feedback: the reader picks an answer and presses "check".

    Args:
        question: the question, as text (HTML allowed).
        choices: the answers to choose from.
        answer: the right one (one of `choices`).
        why: the explanation shown once the reader has picked the right answer.

    >>> q = quiz("Which of i, f, g, o is not a gate?", ["i", "f", "g", "o"], "g", "g is the cell candidate, a tanh.")
    >>> q.choices.value = "f"; q.check.click(); "Not f" in q.feedback.value
    True
    """
    return Quiz(question, choices, answer, why)
