import CReference
print("fute-bench: placeholder")
