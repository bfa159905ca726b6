"""Marketing campaigns: campaign types with their phase templates (this part), and
campaigns with their targets, rollout into deals and tasks, and results (to come,
issue 18)."""
