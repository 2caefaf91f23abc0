import os
import sys

# Lets the tests import the helpers next to them (watchkit).
sys.path.insert(0, os.path.dirname(__file__))
