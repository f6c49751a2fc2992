"""The tasks, a package each (``conf/task/<name>.yaml`` selects one; autodo.registry maps the names): ``train``
(AutoDO and the methods beside it), ``subsample`` (augmentation subsampling) and ``active_learning``. No
task imports another (setup.cfg's contracts)."""
