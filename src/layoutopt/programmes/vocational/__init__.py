"""Secondary vocational consolidation (中职学校布局调整), planned prefecture by prefecture."""
