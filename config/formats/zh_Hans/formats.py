# The same ISO formats as English (config/formats/en): bank documents use them in both languages.
from config.formats.en.formats import *  # noqa: F403
