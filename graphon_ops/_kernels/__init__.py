"""Compiled kernels: arrays and scalars in, arrays out. Imported lazily by the modules that use them.

``cpu.py`` holds the numba kernels of the foundation (graphon evaluation on grids); the kernels of
larger subsystems sit beside it, one module each, named after the subsystem they serve.
"""
