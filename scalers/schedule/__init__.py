"""The schedule loop: annotation parsing, fire times and decisions (pure), and the loop itself."""
