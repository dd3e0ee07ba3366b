"""Run outputs and events of the step-workflow face (``kitaru_nb.run.workflow``)."""
