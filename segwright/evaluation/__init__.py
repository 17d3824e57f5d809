"""Floor 4: metrics (mIoU, mDice, mFscore, aAcc) following MMEngine's BaseMetric interface."""

from segwright.evaluation import metrics  # noqa: F401
