// The age v1 implementation; see the files of this module.
