"""The services API handlers call: containers, images, exec, events, system."""
