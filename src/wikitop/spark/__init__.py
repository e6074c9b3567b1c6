"""The Spark job: a range of hours computed on a Spark cluster by wikitop's own engine (see job.py)."""
