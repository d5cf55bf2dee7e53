"""Architecture scores behind one registry; importing this package registers the built-in ones."""

from nascli.scores.base import SCORES, Score, ScoreContext, make_score

from nascli.scores import angle, angle_darts, angle_mobilenet, cost, rmi, supernet_acc, trained_acc  # noqa: E402,F401  isort: skip

__all__ = ["SCORES", "Score", "ScoreContext", "make_score"]
