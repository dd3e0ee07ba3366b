"""The notebook panel (ipywidgets). Imported lazily: ``import kitaru_nb`` does not load widgets."""
