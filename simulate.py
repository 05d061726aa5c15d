"""What-if replay of historic orders against candidate pack versions (see issue: simulate.py)."""
