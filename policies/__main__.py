"""Entry point the Pulumi CLI runs (`python -m pulumi.policy <engine> <this dir>`). Rules live in rules/."""

from rules.pack import serve

serve()
