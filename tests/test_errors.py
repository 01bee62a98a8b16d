"""describe_error: one line a user can act on, never only a class name, never the prompt."""

from __future__ import annotations

from hallmark.errors import KeyMaterialError, describe_error


def test_a_missing_module_names_its_distribution() -> None:
    error = ModuleNotFoundError("No module named 'cv2'", name="cv2")
    text = describe_error(error)
    assert text.startswith("missing Python module 'cv2': install it with `pip install opencv-python`")


def test_a_submodule_is_installed_by_its_top_level_package() -> None:
    text = describe_error(ModuleNotFoundError("No module named 'scipy.sparse'", name="scipy.sparse"))
    assert "'scipy.sparse'" in text and "`pip install scipy`" in text


def test_foreign_errors_keep_their_type_and_message_on_one_line() -> None:
    assert (
        describe_error(OSError(28, "No space left on device"))
        == "OSError: [Errno 28] No space left on device"
    )
    assert describe_error(RuntimeError("line one\n  line two")) == "RuntimeError: line one line two"
    assert describe_error(KeyError()) == "KeyError"


def test_hallmark_errors_carry_their_hint() -> None:
    text = describe_error(KeyMaterialError("signing key missing"))
    assert text.startswith("KeyMaterialError: signing key missing (Run `hallmark keys init`")


def test_a_message_that_quotes_the_prompt_is_withheld() -> None:
    error = ValueError("bad token in 'A  Secret lighthouse'")
    assert describe_error(error, withhold=("a secret lighthouse",)) == (
        "ValueError (its message is withheld because it quotes the prompt)"
    )
    assert describe_error(error, withhold=("",)) == "ValueError: bad token in 'A Secret lighthouse'"


def test_long_messages_are_cut() -> None:
    assert len(describe_error(RuntimeError("x" * 5000))) < 320
