"""`ll.generate`: write text with a trained character language model, one character at a time."""

import functools

import numpy as np

from .._checks import check_nonnegative, check_positive_int
from ..prediction import Stepper, predict_and_update_state, reset_state
from .vocabulary import Vocabulary, check_text


def generate(net, vocabulary, prompt, length, *, temperature=1.0, seed=None, interventions=None):
    """Write `length` characters after `prompt`, one at a time, with a character language model.

    The network reads the prompt once (an `ll.Stepper`; `ll.predict_and_update_state` with
    interventions), then each new character but the last costs one step: sample it from the
    probabilities of the last step, feed it in, and so on, the state carried throughout (P + length
    - 1 steps for a prompt of P characters). The network starts from its initial state and is left
    there (`ll.reset_state`) when the text is written.

    Temperature reshapes the probabilities before sampling, p ** (1 / temperature), normalized:
    1 samples the model's own distribution, below 1 is more cautious (0 always takes the most
    likely character), above 1 more adventurous.

    Args:
        net: a trained `ll.Network` reading token ids (sequence_input_layer(1), then
            word_embedding_layer) and ending in a softmax over the vocabulary's characters.
        vocabulary: the `ll.text.Vocabulary` the network was trained with.
        prompt: a non-empty string of characters the vocabulary holds.
        length: how many characters to write (a positive integer).
        temperature: a finite number >= 0. Default 1.
        seed: an integer for reproducible sampling, or None. Default None.
        interventions: a list of `ll.Intervention`, applied while the prompt is read and at every
            written character (see `lstmlab.interventions`). Each character is its own call, so
            `steps` count the prompt's characters and then 0 for each new one: leave steps out to
            act throughout. Default None: the network as trained.

    Returns:
        The written text, without the prompt: a string of `length` characters.
    """
    where = "generate"
    if not isinstance(vocabulary, Vocabulary):
        raise TypeError(f"{where}: vocabulary must be an ll.text.Vocabulary; got {type(vocabulary).__name__}.")
    if net.output_size != len(vocabulary):
        raise ValueError(
            f"{where}: the network scores {net.output_size} characters but the vocabulary has {len(vocabulary)}; give "
            f"the vocabulary the network was trained with (ll.datasets.python_char_lm() returns both)."
        )
    ids = vocabulary.encode(check_text(prompt, "prompt", where))  # (P,)
    length = check_positive_int(length, "length", where)
    temperature = check_nonnegative(temperature, "temperature", where)
    rng = np.random.default_rng(seed)
    written = []
    reset_state(net)
    step = Stepper(net) if not interventions else functools.partial(predict_and_update_state, net, interventions=interventions)
    try:
        scores = step(ids)[-1]  # (V,) after the prompt
        for k in range(length):
            code = _sample(scores, temperature, rng)  # 0..V-1, the class code of the next character
            written.append(code + 1)
            if k + 1 < length:  # the last character is written, not read: nothing needs the step after it
                scores = step(np.array([code + 1]))[-1]  # (V,) one step on
    finally:
        reset_state(net)
    return vocabulary.decode(written)


def _sample(probabilities, temperature, rng):
    """A class code drawn from probabilities (V,) sharpened or flattened by the temperature."""
    if temperature == 0:
        return int(np.argmax(probabilities))
    logits = np.log(np.maximum(probabilities.astype(np.float64), 1e-30)) / temperature  # (V,)
    weights = np.exp(logits - logits.max())  # (V,)
    return int(rng.choice(len(weights), p=weights / weights.sum()))
