"""Tools agents call, beside the kernel's built-in `emit`: each a `Tool` (`axoc.tools.base`) —
its definition and how to run it — gathered into the run's toolbox."""
