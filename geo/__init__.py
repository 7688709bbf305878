"""Pure spatial work: territory building, point assignment, crosswalks and grids."""
