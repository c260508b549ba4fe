"""What the stages exchange: the event models, the stream envelope codec and the visitor key.

Every stage may import this package; it imports no stage and no AWS SDK.
"""
