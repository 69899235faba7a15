"""Record linkage: which agencies' records describe the same child or adult, and why we think so."""
