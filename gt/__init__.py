"""Ground truth: readers for annotation folders and zips, dataset converters and generators."""
