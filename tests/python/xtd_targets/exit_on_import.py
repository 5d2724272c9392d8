"""Dies while being imported, as a broken native extension would."""
import os

os._exit(3)
