"""Kubernetes semantics as pure functions: what to apply, how to read pod status, where port
forwards go, which contexts are safe, what `down` deletes. No process, file or socket here;
`adapters/kubectl.py` and the engine's k8s runner and runtime do the I/O."""
