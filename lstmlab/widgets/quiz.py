"""A self-check question with feedback, for the end of a lesson.

The right answer and its explanation travel sealed: `seal(answer, why)` turns them into a string
that a student reading the notebook cannot read at a glance (compressed, then base64), and
`quiz(question, choices, sealed)` opens it only to check the reader's pick. A teacher writing a
question calls `seal` once and pastes what it returns; `unseal` reads one back.
"""

import base64
import binascii
import json
import zlib

import ipywidgets as widgets

PREFIX = "sealed:"


def seal(answer, why):
    """The answer and its explanation as one string that does not show them.

    Args:
        answer: the right answer, one of the quiz's choices.
        why: the explanation the reader gets once they have answered.

    Returns:
        A string starting "sealed:", to paste as `quiz`'s third argument.

    >>> sealed = seal("g", "g is the cell candidate, a tanh.")
    >>> sealed.startswith("sealed:") and "tanh" not in sealed
    True
    >>> unseal(sealed)
    ('g', 'g is the cell candidate, a tanh.')
    """
    text = json.dumps({"answer": str(answer), "why": str(why)})
    return PREFIX + base64.b64encode(zlib.compress(text.encode(), 9)).decode()


def unseal(sealed):
    """(answer, why) from a string that `seal` made.

    Args:
        sealed: what `seal` returned.

    Returns:
        The tuple (answer, why).
    """
    if not (isinstance(sealed, str) and sealed.startswith(PREFIX)):
        raise ValueError(
            f"quiz: the answer must be sealed, so that a student reading the notebook cannot see it; got {sealed!r}. "
            f"Give ll.widgets.seal(answer, why) (run it once and paste the string it returns)."
        )
    try:
        opened = json.loads(zlib.decompress(base64.b64decode(sealed[len(PREFIX) :], validate=True)))
    except (binascii.Error, zlib.error, ValueError):
        raise ValueError(f"quiz: {sealed[:30]!r}... is not a string that ll.widgets.seal made (was it cut when pasted?).") from None
    return opened["answer"], opened["why"]


class Quiz(widgets.VBox):
    """One multiple-choice question: pick an answer, press "check", read why.

    Attributes:
        choices: the RadioButtons (set `.value` as a reader would), check: the button,
        feedback: the HTML that answers.
    """

    def __init__(self, question, choices, sealed):
        choices = [str(c) for c in choices]
        if len(choices) < 2 or len(set(choices)) != len(choices):
            raise ValueError(f"quiz: choices must be two or more different answers; got {choices!r}.")
        answer, why = unseal(sealed)
        if answer not in choices:
            raise ValueError(f"quiz: the sealed answer must be one of the choices {choices!r}; got {answer!r}.")
        self.question, self._sealed = question, sealed
        self.choices = widgets.RadioButtons(options=choices, value=None, layout={"width": "max-content"})
        self.check = widgets.Button(description="check", button_style="primary")
        self.feedback = widgets.HTML()
        self.check.on_click(lambda _: self._answer())
        super().__init__([widgets.HTML(f"<b>Check yourself.</b> {question}"), self.choices, self.check, self.feedback])
        self.add_class("lstmlab-quiz")

    def _answer(self):
        answer, why = unseal(self._sealed)
        if self.choices.value is None:
            self.feedback.value = "Pick an answer first."
        elif self.choices.value == answer:
            self.feedback.value = f"<span style='color:#1a7f37'>&#10004; Right.</span> {why}"
        else:
            self.feedback.value = f"<span style='color:#c62828'>&#10008; Not {self.choices.value}.</span> Think again, then check another answer."

    def __repr__(self):
        return f"Quiz: {self.question} (run this cell in JupyterLab to answer)"


def quiz(question, choices, sealed):
    """A multiple-choice question with feedback: the reader picks an answer and presses "check".

    Args:
        question: the question, as text (HTML allowed).
        choices: the answers to choose from.
        sealed: the right answer (one of `choices`) and the explanation shown once the reader
            has picked it, as `seal(answer, why)` returns them: a student reading the notebook
            cannot tell the right choice without answering.

    Returns:
        A `Quiz` (an ipywidgets box) with `choices` (the radio buttons), `check` (the button) and
        `feedback` (what the reader is told).

    >>> q = quiz("Which of i, f, g, o is not a gate?", ["i", "f", "g", "o"], seal("g", "g is the cell candidate, a tanh."))
    >>> q.choices.value = "f"; q.check.click(); "Not f" in q.feedback.value
    True
    """
    return Quiz(question, choices, sealed)
