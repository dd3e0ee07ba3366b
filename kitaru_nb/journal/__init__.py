"""The journal: the only package that speaks SQL.

``base`` holds the rows and the protocol, ``sqlite`` the SQLite journal (imported on
first use, so ``import kitaru_nb`` stays fast), ``memory`` the in-memory one.
"""
