"""The training task (``task=train``, the default): AutoDO and the methods beside it. Its face is
``autodo.train.task``."""
