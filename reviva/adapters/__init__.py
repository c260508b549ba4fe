"""Adapters: the AWS, lake and engine implementations of the domain packages' ports."""
