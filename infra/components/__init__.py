"""One construct per pipeline stage; each owns its resources and its function's least-privilege role."""
