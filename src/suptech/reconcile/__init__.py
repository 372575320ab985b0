"""Reconciliation (issue 28): which reports describe the same execution, whether they
agree, and whether each came in time; the breaks it finds go back to both submitters and
to the supervisor (`run.reconcile`)."""
