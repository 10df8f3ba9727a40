"""Jobs, schedules and sensors spanning the whole graph."""
