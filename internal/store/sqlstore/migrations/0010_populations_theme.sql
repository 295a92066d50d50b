-- Deleting a theme sends the populations that name it back to the
-- environment's default theme (DeleteTheme): that update finds them by
-- environment and theme.
CREATE INDEX populations_theme ON populations (environment_id, theme_id);
