"""After the session: the public transcript (文字实录), the archive and its search, corrections
of published wording with their history, and citizens' satisfaction ratings (满意度)."""
