"""One module per revision, named r<rev>_<slug>.py so each is a valid Python module name."""
