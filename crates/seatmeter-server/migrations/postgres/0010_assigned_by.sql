-- Who assigned each license (absent for assignments made before it was recorded).
ALTER TABLE license_assignments ADD COLUMN assigned_by TEXT;
