"""Learned topic models shipped with newsalert (see bot/matching/topic_model/)."""
