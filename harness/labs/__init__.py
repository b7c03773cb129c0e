"""The graders of the labs: one package per lab, harness/labs/labNN_name/ (see harness/README.md)."""
