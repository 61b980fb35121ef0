"""Run by the book's kernels before the notebooks' first cell (an IPython startup file; `make book` puts it in
the kernels' IPYTHONDIR): tqdm.auto's progress bars are Jupyter widgets, which a static page cannot draw
without the widgets' JavaScript from a CDN, and which it would otherwise show as their first text ("0%").
The plain-text bars write to stderr, which the book leaves out, so no progress bar appears in the book."""
import tqdm.auto
import tqdm.std

tqdm.auto.tqdm = tqdm.std.tqdm
tqdm.auto.trange = tqdm.std.trange
