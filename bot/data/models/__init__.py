"""Learned topic models shipped with newsalert (see bot/topic_model.py)."""
