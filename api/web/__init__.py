"""Server-rendered pages (Jinja2 templates in forms/). Work without JavaScript, except the diagram."""
