"""axoc.kernel: the execution kernel. It runs a lowered `SignalTable` and nothing else.

The kernel imports the standard library only, never the compiler (`axoc.*` outside
`axoc.kernel`) or an adapter; the signal table is the only contract between them, and a test
imports the kernel in a fresh interpreter to prove it.
"""
