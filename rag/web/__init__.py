"""Web: the Gradio chat app (layout), its rendering, the Library tab, overview and feedback."""
