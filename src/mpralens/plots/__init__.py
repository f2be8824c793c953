"""Every figure of the workflow; the only package that imports matplotlib or logomaker."""
