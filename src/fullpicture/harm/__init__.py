"""Cumulative harm: scoring each child's chronology over time and raising alerts that carry their evidence."""
