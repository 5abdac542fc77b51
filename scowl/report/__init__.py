"""`scowl report`: one HTML page that answers the seed's eight evaluation questions from day runs,
scale sweeps and partition-size sweeps, with the plot, the runs and the command behind each."""

from scowl.report.answer import QUESTIONS, Answer
from scowl.report.build import answer_all, build_report
from scowl.report.inputs import Inputs, load_inputs

__all__ = ["QUESTIONS", "Answer", "Inputs", "answer_all", "build_report", "load_inputs"]
