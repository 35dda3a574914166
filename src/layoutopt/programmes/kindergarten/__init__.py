"""Kindergarten places (Shanxi 14th Five-Year Plan, column 4): about 500 public projects so
that every county meets the enrolment, inclusive and public-share targets."""
