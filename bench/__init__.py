"""`make bench`: the figures the issues ask for, printed and written into docs/performance.md."""
