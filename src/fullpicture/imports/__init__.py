"""Agency feeds in: validated row by row, bad rows quarantined, each batch all or nothing."""
