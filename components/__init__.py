"""aws-compute's ComponentResources, one per layer, and the typed stack config they are built from."""
