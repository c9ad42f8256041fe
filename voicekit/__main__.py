"""``python -m voicekit``: the voicekit command."""

from voicekit.cli import main

main()
