"""Documents of one solution: the Jinja2 environments, the handout, slides, snippets and plain reports."""
